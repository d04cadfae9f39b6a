"""The person's conversation: the engine (`step`), the intake questions and their table,
the sheet, the proposals after a confirmed case."""
