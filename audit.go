package coffer

import (
	"context"
	"log/slog"
)

// audit records one event per operation. Events hold the operation, where,
// the key, the actor, what extra adds (Check's counts) and the outcome;
// never a value (no error holds one).
func (m *Manager) audit(ctx context.Context, op, key string, err error, extra ...slog.Attr) {
	log := m.opts.AuditLog
	if log == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("op", op),
		slog.String("project", m.opts.Project),
		slog.String("environment", m.opts.Environment),
	}
	if key != "" {
		attrs = append(attrs, slog.String("key", key))
	}
	attrs = append(attrs, slog.String("actor", actorOf(ctx)))
	attrs = append(attrs, extra...)
	level := slog.LevelInfo
	if err == nil {
		attrs = append(attrs, slog.String("outcome", "ok"))
	} else {
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("outcome", ErrorCode(err)), slog.String("error", err.Error()))
	}
	log.LogAttrs(context.WithoutCancel(ctx), level, "coffer."+op, attrs...)
}
