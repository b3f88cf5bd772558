"""Status codes of persons and households, shared by every module.

Examples
--------
>>> from model.core.states import HOME, DEAD
>>> HOME < DEAD
True
"""

# person status: at home, abroad for work, abroad to study, emigrated for good, dead
HOME, LABOUR, STUDY, EMIGRATED, DEAD = 0, 1, 2, 3, 4
# household status
RESIDENT, HH_EMIGRATED, DISSOLVED = 0, 1, 2

# dtype of the household and person indices the tables store (a person's household, a
# household's head and contacts): 32 bits hold the full population to 2050 with room to
# spare and halve the bytes each pass over the tables reads
INDEX_DTYPE = "int32"
