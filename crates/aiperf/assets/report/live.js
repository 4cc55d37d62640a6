// Filled by the dashboard.
