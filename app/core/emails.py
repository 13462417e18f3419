"""Email addresses as accounts know them: one stored form however an address is typed, whether
its local part mixes scripts, and a key that addresses which look alike share.

The stored form is NFKC with case folding (fullwidth letters are the ASCII ones), trimmed, with
the domain as IDNA reads it. The key is the SHA-256 of the UTS #39 confusable skeleton of that
form (ICU's SpoofChecker: a Cyrillic e becomes a Latin one), without the marks on Latin letters,
which the skeleton keeps: ``sec`` with an acute on the c looks like ``sec``, while in other
scripts a mark can make another word.
"""

import hashlib
import unicodedata
from functools import lru_cache

import icu
from email_validator import EmailNotValidError, validate_email

# Beyond UTS #39's "highly restrictive" (one script, or Latin with Han and kana, Han and
# Bopomofo, or Han and Hangul), or digits of more than one number system.
MIXING_CHECKS = icu.USpoofChecks.RESTRICTION_LEVEL | icu.USpoofChecks.MIXED_NUMBERS
MARKS = {"Mn", "Me"}


@lru_cache
def _checker() -> icu.SpoofChecker:
    checker = icu.SpoofChecker()
    checker.setChecks(MIXING_CHECKS)
    checker.setRestrictionLevel(icu.URestrictionLevel.HIGHLY_RESTRICTIVE)
    return checker


def fold(text: str) -> str:
    """``text`` in NFKC with case folding (Unicode's NFKC_Casefold, as Python spells it)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def normalize_email(email: str) -> str:
    """The stored form of an email address: folded, trimmed, the domain as IDNA reads it."""
    folded = fold(email).strip()
    try:
        return str(validate_email(folded, check_deliverability=False).normalized)
    except EmailNotValidError:
        return folded


def mixes_scripts(email: str) -> bool:
    """Whether the local part of ``email`` mixes scripts (a Cyrillic e among Latin letters)."""
    local = normalize_email(email).rpartition("@")[0]
    return bool(_checker().check(local) & MIXING_CHECKS)


def email_skeleton(email: str) -> str:
    """What ``email`` looks like: its stored form's skeleton, without marks on Latin letters."""
    kept: list[str] = []
    latin = False
    for char in _checker().getSkeleton(0, normalize_email(email)):
        if unicodedata.category(char) not in MARKS:
            latin = icu.Script.getScript(char).getScriptCode() == icu.UScriptCode.LATIN
        elif latin:
            continue
        kept.append(char)
    return "".join(kept)


def email_skeleton_hash(email: str) -> str:
    """The SHA-256 (hex) of ``email``'s skeleton: emails that look alike share it."""
    return hashlib.sha256(email_skeleton(email).encode("utf-8")).hexdigest()
