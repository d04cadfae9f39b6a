"""Reports: activity and impact report, its rendering, /stats and the weekly digest."""
