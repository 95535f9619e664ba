package coffer

import (
	"context"
	"log/slog"
)

// audit records one event per operation. Events hold the operation, where,
// the key, any extra attributes (a version number, Check's counts), the
// actor and the outcome; never a value (no error holds one).
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
	attrs = append(attrs, extra...)
	attrs = append(attrs, slog.String("actor", actorOf(ctx)))
	level := slog.LevelInfo
	if err == nil {
		attrs = append(attrs, slog.String("outcome", "ok"))
	} else {
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("outcome", ErrorCode(err)), slog.String("error", err.Error()))
	}
	log.LogAttrs(context.WithoutCancel(ctx), level, "coffer."+op, attrs...)
}
