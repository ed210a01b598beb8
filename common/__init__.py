"""What every layer may use: the one base of the errors that are meant for people."""
