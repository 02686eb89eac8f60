package engine

import "time"

type timeT = time.Time

func unix(secs int64) time.Time { return time.Unix(secs, 0).UTC() }
