"""What a clinic writes itself: its inventory and treatment records, read from CSV files
(or command-line options) into rows the store can add, with errors that name the file,
line and column and say what to do.

csvfile.py    the one CSV reader: encoding, delimiter, header names and aliases, lines
cells.py      one cell: dates, lots, barcodes, client references
inventory.py  bottles: the columns `inventory template` prints and `inventory import` reads
sessions.py   treatments: the columns of a booking software's export

This layer sits beside the store and cannot name its types: rows come back as the keyword
arguments of ``store.NewBottle`` and ``store.NewSession``.
"""
