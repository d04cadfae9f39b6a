"""Reports at run time: the report's rows, its chart, the weekly digest."""
