"""Plotting helpers of the chapters, one module per area (matplotlib only, no state)."""
