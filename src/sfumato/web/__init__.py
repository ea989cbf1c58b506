"""The web page at `/`: a plain Jinja2 template and a small script that use the public REST API
with the key the user pastes (no privileges of its own). Off with `SFUMATO_WEB_UI=false`."""
