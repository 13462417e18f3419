"""axe-core in Chromium: its source given once to a browser context, which loads it into every
document it opens (rather than sending the ~570 KB script again for each page), and the serious
and critical violations of a run."""

from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import BrowserContext, Page

BLOCKING = ("serious", "critical")
# Every rule runs; only the violations come back, not the passing and incomplete nodes.
OPTIONS = {"resultTypes": ["violations"]}
RUN = """([options, blocking]) => axe.run(document, options).then(results => results.violations
    .filter(violation => blocking.includes(violation.impact))
    .map(violation => ({
        id: violation.id,
        impact: violation.impact,
        targets: violation.nodes.map(node => node.target),
    })))"""


def load_axe(context: BrowserContext) -> None:
    """Have every document ``context`` opens load axe-core before its own scripts."""
    context.add_init_script(AXE_SCRIPT)


def blocking_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on ``page`` as it is now, one line each."""
    found = page.evaluate(RUN, [OPTIONS, list(BLOCKING)])
    return [
        f"axe {violation['impact']} {violation['id']} on "
        f"{[str(target) for target in violation['targets']][:5]}"
        for violation in found
    ]
