"""Intake at run time: views of the cases for the executors."""
