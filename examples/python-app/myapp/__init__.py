"""myapp: the card part of an application that logs users in with their My Number Card.

A deliberately small PC/SC client, written the way app teams write them (pyscard, raw
APDUs), with the error handling the card's answers call for.
"""
