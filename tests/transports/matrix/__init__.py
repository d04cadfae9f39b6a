"""Tests of the Matrix side (issue 4)."""
