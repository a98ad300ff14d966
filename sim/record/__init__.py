"""Recording: event log, output tables (the CSV schemas) and the atomic writer."""
