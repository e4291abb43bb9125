"""Error codes and error strings of the SCORM 1.2 and SCORM 2004 run-time APIs.

Sources: SCORM 1.2 RTE (error codes) and SCORM 2004 4th Edition RTE
(error code table). The strings are the standard's short descriptions; each is
shorter than the 255 characters SCORM 2004 allows for GetErrorString.
"""

from __future__ import annotations

# Failure kinds that validators return; each standard maps them to its own code.
VALID = 0
TYPE_MISMATCH = 1
OUT_OF_RANGE = 2
TOO_LONG = 3

ERRORS_12: dict[int, str] = {
    0: "No error",
    101: "General exception",
    201: "Invalid argument error",
    202: "Element cannot have children",
    203: "Element not an array - cannot have count",
    301: "Not initialized",
    401: "Not implemented error",
    402: "Invalid set value, element is a keyword",
    403: "Element is read only",
    404: "Element is write only",
    405: "Incorrect data type",
}

ERRORS_2004: dict[int, str] = {
    0: "No Error",
    101: "General Exception",
    102: "General Initialization Failure",
    103: "Already Initialized",
    104: "Content Instance Terminated",
    111: "General Termination Failure",
    112: "Termination Before Initialization",
    113: "Termination After Termination",
    122: "Retrieve Data Before Initialization",
    123: "Retrieve Data After Termination",
    132: "Store Data Before Initialization",
    133: "Store Data After Termination",
    142: "Commit Before Initialization",
    143: "Commit After Termination",
    201: "General Argument Error",
    301: "General Get Failure",
    351: "General Set Failure",
    391: "General Commit Failure",
    401: "Undefined Data Model Element",
    402: "Unimplemented Data Model Element",
    403: "Data Model Element Value Not Initialized",
    404: "Data Model Element Is Read Only",
    405: "Data Model Element Is Write Only",
    406: "Data Model Element Type Mismatch",
    407: "Data Model Element Value Out Of Range",
    408: "Data Model Dependency Not Established",
}

# Maps a validator's failure kind to the error code of each standard. SCORM 1.2
# has one code (405) for every invalid value. SCORM 2004 refuses a value longer
# than the element's maximum with 351 because the standard defines no code for it.
KIND_CODES_12: dict[int, int] = {TYPE_MISMATCH: 405, OUT_OF_RANGE: 405, TOO_LONG: 405}
KIND_CODES_2004: dict[int, int] = {TYPE_MISMATCH: 406, OUT_OF_RANGE: 407, TOO_LONG: 351}

# Mapping from the string form of a code (the argument of GetErrorString) to its text.
# Only the canonical spelling is known: "001" or "1444" return "".
ERROR_STRINGS_12: dict[str, str] = {str(code): text for code, text in ERRORS_12.items()}
ERROR_STRINGS_2004: dict[str, str] = {
    str(code): text for code, text in ERRORS_2004.items()
}

# str(code) for every code, so GetLastError builds no new string.
CODE_TEXT: dict[int, str] = {code: str(code) for code in (*ERRORS_12, *ERRORS_2004)}
