"""The model's pieces, shared by the engines: random streams, traffic, theory."""
