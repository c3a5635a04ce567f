"""The anonymous question log, its schema, and the report for campaign staff."""
