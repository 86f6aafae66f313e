"""A small Django project for the tests: one app whose handlers write ``Effect`` rows with the ORM."""
