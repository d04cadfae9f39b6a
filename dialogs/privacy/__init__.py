"""Privacy (GDPR): a person's export and erasure, asked and confirmed."""
