"""``python -m schemas [DIRECTORY]``: regenerate the JSON Schema files (default: ``schemas/jsonschema/``)."""

from schemas.export import main

raise SystemExit(main())
