"""Follow-up at run time: the nudges worker, its executor and its schedule (quiet hours)."""
