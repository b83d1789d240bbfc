"""Modal screens: help, export, file and snapshot prompts."""
