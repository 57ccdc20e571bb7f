"""Studies: submission, update, curation, their derived effect sizes, and the evidence history."""
