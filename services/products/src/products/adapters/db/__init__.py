"""SQL storage of products: tables, repositories, the unit of work, migrations."""
