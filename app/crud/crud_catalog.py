"""Queries on the catalog tables."""

from app.crud.base import CRUDBase
from app.models.catalog import Category, Product, Supplier, Warehouse

category_crud = CRUDBase(Category, search=[Category.name])
product_crud = CRUDBase(Product, search=[Product.sku, Product.name, Product.variety])
supplier_crud = CRUDBase(Supplier, search=[Supplier.code, Supplier.name])
warehouse_crud = CRUDBase(Warehouse, search=[Warehouse.code, Warehouse.name])
