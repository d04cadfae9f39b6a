"""Configuration: the TOML file and environment (load.py), one module per section."""
