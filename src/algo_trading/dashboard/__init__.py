"""The Streamlit dashboard (DESIGN.md layer 10): reads the database through the storage adapter
(`queries`), writes command rows only (`commands`), one module per page under `pages/`. It
never drives the engine. `algo-trading dashboard` runs `app.py` with Streamlit."""

__all__: list[str] = []
