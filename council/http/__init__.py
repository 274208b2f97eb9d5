"""What every HTTP request passes through, page or API: abuse defences, the database-
unavailable answer, the site-wide error handlers and the health check."""
