"""The catalog at run time: loading, importing, the starter catalog."""
