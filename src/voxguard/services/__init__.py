"""Services shared by the API and the CLI: one place for every workflow's logic."""
