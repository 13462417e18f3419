"""What can be exported as CSV."""

from enum import StrEnum


class Dataset(StrEnum):
    """An exportable data set."""

    PRODUCTS = "products"
    SUPPLIERS = "suppliers"
    STOCK = "stock"
