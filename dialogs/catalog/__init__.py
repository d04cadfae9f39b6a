"""The catalog: parsing and checking YAML/CSV files, its entries, and the matching engine."""
