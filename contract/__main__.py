"""`python -m contract`: print the data dictionary's table of tracks.parquet's columns, generated
from the field catalogue (docs/data-dictionary.md holds it; tests/test_contract.py checks)."""

from contract.fields import dictionary_table

print(dictionary_table())
