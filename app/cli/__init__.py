"""The ``dfims`` command line. A command imports the services it uses when it runs, so that
the command line starts in about a second (importing them all takes about three more)."""
