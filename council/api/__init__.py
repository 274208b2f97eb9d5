"""The REST API: its routes, authentication, error mapping, paging, schema, and the
council domain's resources (councils, meetings, attendance, the audit log)."""
