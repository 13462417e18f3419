"""Setup, calls and checks shared by the test folders."""
