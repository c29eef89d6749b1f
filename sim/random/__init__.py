"""Randomness: named, independent random streams and the distributions drawn from them."""
