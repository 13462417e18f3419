"""Email addresses as accounts know them: the stored form (NFKC, case-folded, trimmed, the
domain as IDNA reads it), local parts that mix scripts, and the key lookalike addresses share
(the UTS #39 skeleton without the marks on Latin letters)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.emails import (
    email_skeleton,
    email_skeleton_hash,
    fold,
    mixes_scripts,
    normalize_email,
)

SEC = "sec@example.com"
FULLWIDTH = "\uff53\uff45\uff43@example.com"  # s e c in fullwidth letters
CYRILLIC_E = "s\u0435c@example.com"  # a Cyrillic e between Latin s and c
ALL_CYRILLIC = "\u0455\u0435\u0441@example.com"  # dze, ie, es: Cyrillic letters only
ACUTE = "se\u0107@example.com"  # c with acute, precomposed
COMBINING_ACUTE = "sec\u0301@example.com"  # c and a combining acute


# --------------------------------------------------------------------------- the stored form


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("  Sec@Example.COM ", SEC),
        (FULLWIDTH, SEC),
        ("\uff33\uff25\uff23\uff20\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25.com", SEC),
        ("\U0001d42c\U0001d41e\U0001d41c@example.com", SEC),  # mathematical bold letters
        ("Stra\u00dfe@example.com", "strasse@example.com"),
        ("\u03a3\u0391\u03a3@example.com", "\u03c3\u03b1\u03c3@example.com"),
        ("sec@B\u00dcCHER.de", "sec@b\u00fccher.de"),
        ("sec@xn--bcher-kva.de", "sec@b\u00fccher.de"),
        (COMBINING_ACUTE, ACUTE),
        ("not an email", "not an email"),
    ],
)
def test_the_stored_form(typed: str, stored: str) -> None:
    assert normalize_email(typed) == stored


def test_a_cyrillic_letter_stays_what_it_is() -> None:
    assert normalize_email(CYRILLIC_E) == CYRILLIC_E
    assert normalize_email(CYRILLIC_E) != SEC


# --------------------------------------------------------------------------- mixed scripts


@pytest.mark.parametrize(
    "email",
    [
        CYRILLIC_E,
        "paypal\u0430@example.com",  # Latin with a Cyrillic a
        "test-\u03b4@example.com",  # Latin with a Greek delta
        "user1\u0662@example.com",  # an ASCII digit and an Arabic-Indic one
    ],
)
def test_a_local_part_mixing_scripts_is_found(email: str) -> None:
    assert mixes_scripts(email)


@pytest.mark.parametrize(
    "email",
    [
        SEC,
        FULLWIDTH,
        ACUTE,
        ALL_CYRILLIC,
        "\u03b4\u03bf\u03ba\u03b9\u03bc\u03ae@example.com",  # Greek only
        "\u5c71\u7530\u305f\u308d\u3046@example.com",  # Han and Hiragana: one Japanese name
        "yamada\u5c71\u7530@example.com",  # Latin and Han, as Japanese writing mixes them
        "first.last+tag_1-2@example.com",
        "sec@ex\u0430mple.com",  # only the local part is judged
    ],
)
def test_a_local_part_in_one_script_passes(email: str) -> None:
    assert not mixes_scripts(email)


# --------------------------------------------------------------------------- the skeleton


@pytest.mark.parametrize(
    "lookalike",
    [
        "SEC@example.com",
        FULLWIDTH,
        CYRILLIC_E,
        ALL_CYRILLIC,
        ACUTE,
        COMBINING_ACUTE,
        "s\u00e9\u00e7@example.com",  # e acute and c cedilla
        "sec@ex\u0430mple.com",  # a Cyrillic a in the domain
    ],
)
def test_lookalikes_share_the_key(lookalike: str) -> None:
    assert email_skeleton(lookalike) == email_skeleton(SEC)
    assert email_skeleton_hash(lookalike) == email_skeleton_hash(SEC)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (SEC, "sed@example.com"),
        (SEC, "sec@example.org"),
        (SEC, "sec.1@example.com"),
        # A mark on a letter of another script can make another word: it is kept.
        ("\u0915@example.com", "\u0915\u0941@example.com"),  # Devanagari ka, and ka with u
    ],
)
def test_different_emails_have_different_keys(one: str, other: str) -> None:
    assert email_skeleton_hash(one) != email_skeleton_hash(other)


def test_the_key_follows_uts_39() -> None:
    """The confusables of UTS #39, including those within one script."""
    assert email_skeleton("m@example.com") == email_skeleton("rn@example.com")
    assert email_skeleton("l1@example.com") == email_skeleton("ll@example.com")
    assert len(email_skeleton_hash(SEC)) == 64


# --------------------------------------------------------------------------- properties

# Spellings that NFKC with case folding takes to one letter: upper case, fullwidth, the
# mathematical alphabets, and a few more.
_SPELLINGS: dict[str, list[str]] = {
    char: [
        char,
        char.upper(),
        chr(ord(char) + 0xFEE0),
        chr(ord(char.upper()) + 0xFEE0),
        chr(0x1D41A + ord(char) - ord("a")),  # bold
        chr(0x1D5BA + ord(char) - ord("a")),  # sans-serif
    ]
    for char in "abcdefghijklmnopqrstuvwxyz"
}
_SPELLINGS["s"].append("\u017f")  # long s
_SPELLINGS["k"].append("\u212a")  # Kelvin sign
for _digit in "0123456789":
    _SPELLINGS[_digit] = [_digit, chr(ord(_digit) + 0xFEE0), chr(0x1D7CE + int(_digit))]
for _sign in ".-_+":
    _SPELLINGS[_sign] = [_sign, chr(ord(_sign) + 0xFEE0)]
_SPELLINGS["@"] = ["@", "\uff20"]

_local = st.from_regex(r"[a-z0-9]([a-z0-9._+-]{0,14}[a-z0-9])?", fullmatch=True).filter(
    lambda local: ".." not in local
)
_domain = st.from_regex(r"[a-z]{1,10}(\.[a-z]{2,6}){1,2}", fullmatch=True)


@st.composite
def _two_spellings(draw: st.DrawFn) -> tuple[str, str]:
    """One address written two ways that are the same after NFKC and case folding."""
    address = f"{draw(_local)}@{draw(_domain)}"
    spell = st.sampled_from
    one = "".join(draw(spell(_SPELLINGS[char])) for char in address)
    other = "".join(draw(spell(_SPELLINGS[char])) for char in address)
    return one, other


@settings(max_examples=300, deadline=None)
@given(_two_spellings())
def test_spellings_that_fold_alike_are_one_account(spellings: tuple[str, str]) -> None:
    one, other = spellings
    assert fold(one) == fold(other)

    assert normalize_email(one) == normalize_email(other)
    assert email_skeleton_hash(one) == email_skeleton_hash(other)
    assert not mixes_scripts(one)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40) | st.emails().map(lambda email: email[:254]))
def test_the_account_key_depends_only_on_the_folded_form(text: str) -> None:
    """Any two texts with the same NFKC-casefolded form have the same stored form and key, and
    the stored form is its own stored form."""
    assert fold(fold(text)) == fold(text)
    assert normalize_email(fold(text)) == normalize_email(text)
    assert normalize_email(normalize_email(text)) == normalize_email(text)
    assert email_skeleton_hash(fold(text)) == email_skeleton_hash(text)
    assert email_skeleton_hash(normalize_email(text)) == email_skeleton_hash(text)
