"""Privacy at run time: export, erasure, retention purge."""
