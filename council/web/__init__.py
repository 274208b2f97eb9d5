"""The pages: the helpers every page view shares, and the council domain's pages."""
