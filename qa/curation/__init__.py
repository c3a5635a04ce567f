"""Staff curation: alternate phrasings of pledges and questions marked as not covered.

    store     the two tables in the question-log database, and their version counter
    search    find a pledge by words or id, for the admin page
    sync      fold the stored curation into a running Answerer, and keep it current
    jsonl     export and import alternates as JSON lines (`python -m qa alternates ...`)
"""
