"""Leonardo's JSON, exactly: request models, response shapes and their enums."""
