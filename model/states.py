"""Status codes of persons and households, shared by every module.

Examples
--------
>>> from model.states import HOME, DEAD
>>> HOME < DEAD
True
"""

# person status: at home, abroad for work, abroad to study, emigrated for good, dead
HOME, LABOUR, STUDY, EMIGRATED, DEAD = 0, 1, 2, 3, 4
# household status
RESIDENT, HH_EMIGRATED, DISSOLVED = 0, 1, 2
