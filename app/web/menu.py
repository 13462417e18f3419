"""The pages' menu: groups of pages, each shown to the callers who may open them."""

from dataclasses import dataclass

from app.services.permissions import Permission
from app.web.session import PageCaller


@dataclass(frozen=True)
class MenuEntry:
    """A page of the menu: its path, its label and the permission that opens it."""

    path: str
    label: str
    permission: Permission


@dataclass(frozen=True)
class MenuGroup:
    """Pages that belong together: the first one the caller may open is the group's link in
    the bar, the others open under it."""

    label: str
    entries: tuple[MenuEntry, ...]


@dataclass(frozen=True)
class MenuItem:
    """A group as one caller sees it: its link, the rest, and whether it holds this page."""

    label: str
    main: MenuEntry
    more: tuple[MenuEntry, ...]
    current: bool


def _group(label: str, *entries: tuple[str, str, Permission]) -> MenuGroup:
    return MenuGroup(label, tuple(MenuEntry(*entry) for entry in entries))


NAVIGATION = (
    _group("Dashboard", ("/dashboard", "Dashboard", Permission.REPORTS_READ)),
    _group(
        "Catalogue",
        ("/products", "Products", Permission.CATALOG_READ),
        ("/lots", "Lots", Permission.STOCK_READ),
        ("/categories", "Categories", Permission.CATALOG_READ),
        ("/suppliers", "Suppliers", Permission.CATALOG_READ),
        ("/warehouses", "Warehouses", Permission.CATALOG_READ),
    ),
    _group("Alerts", ("/alerts", "Alerts", Permission.STOCK_READ)),
    _group(
        "Stock",
        ("/stock/receive", "Stock work", Permission.STOCK_MOVE),
        ("/count", "Stocktake", Permission.STOCK_MOVE),
    ),
    _group(
        "Sales",
        ("/orders", "Sales", Permission.SALES_MANAGE),
        ("/customers", "Customers", Permission.CUSTOMERS_MANAGE),
        ("/invoices", "Invoices", Permission.SALES_MANAGE),
        ("/receivables", "Receivables", Permission.SALES_MANAGE),
        ("/credit-notes", "Credit notes", Permission.SALES_MANAGE),
    ),
    _group(
        "Purchasing",
        ("/purchase-orders", "Purchasing", Permission.PURCHASING_READ),
        ("/reorder", "Reorder", Permission.PURCHASING_READ),
    ),
    _group(
        "Reports",
        ("/reports", "Reports", Permission.REPORTS_READ),
        ("/audit", "Audit", Permission.AUDIT_READ),
    ),
    _group(
        "Admin",
        ("/admin/users", "Users", Permission.USERS_MANAGE),
        ("/admin/sessions", "Sessions", Permission.SESSIONS_MANAGE),
    ),
    _group("Shop", ("/shop", "Shop", Permission.ORDERS_OWN)),
    _group("My orders", ("/orders", "My orders", Permission.ORDERS_OWN)),
)


def menu_for(caller: PageCaller | None, path: str) -> list[MenuItem]:
    """The groups of the menu ``caller`` may open, with the entries it may open."""
    items = []
    for group in NAVIGATION:
        entries = [e for e in group.entries if caller and caller.can(e.permission)]
        if entries:
            current = any(_section(path) == _section(entry.path) for entry in entries)
            items.append(MenuItem(group.label, entries[0], tuple(entries[1:]), current))
    return items


def _section(path: str) -> str:
    """The first step of ``path``: /stock/adjust and /stock/receive are both in stock."""
    return path.split("/")[1]
