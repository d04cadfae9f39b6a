"""The runtime: an input (`Incoming`) handled in one unit of work, the flood limit, the clock."""
