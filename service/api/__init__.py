"""HTTP: routers, dependencies and middleware; no SQL, no maths."""
