"""The reference pages (Markdown), shipped inside the package so `gpuwiz help TOPIC` can show them."""
