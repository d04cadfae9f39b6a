"""Assignment: the aiguilleurs' desk (offers, queue, decisions), their commands and the relay."""
