"""Reminders: a scheduler that sleeps until the next reminder and shows desktop notifications."""
