"""Assignment at run time: the aiguilleurs' desk (offers, decisions, relay)."""
